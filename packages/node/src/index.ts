// @voxpipe/node — the table of contents.
