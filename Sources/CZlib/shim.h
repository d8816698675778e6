// The system zlib, for the binary wire form's compression (Sources/YuqingWire/BinaryCompression.swift).
#include <zlib.h>
