"""The channel playout engine (runs in the streamer image)."""
