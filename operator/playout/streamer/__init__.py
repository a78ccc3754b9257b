"""The channel playout engine (runs in images/streamer)."""
