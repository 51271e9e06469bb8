// @voxpipe/codecs — the table of contents.
