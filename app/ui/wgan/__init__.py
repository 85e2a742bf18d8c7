"""Views of the WGAN page: the critic map, the sample timeline, the W1-vs-JSD lab, histograms."""
