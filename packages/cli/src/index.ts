// @voxpipe/cli — the table of contents.
