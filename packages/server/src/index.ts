// @voxpipe/server — the table of contents.
