"""The Serve page's parts: what to serve, the server's settings, the workers table, the load
generator's controls, the live plots and the note that maps them onto the pipeline."""
