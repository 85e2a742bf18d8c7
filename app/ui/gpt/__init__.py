"""Views of the GPT page: generated text, attention maps, entropy, top-k bars, surprisal, probes."""
