"""ffmpeg/ffprobe command building and the HLS playlist model, shared by both engines."""
