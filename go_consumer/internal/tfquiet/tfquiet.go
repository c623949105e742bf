// Package tfquiet silences TensorFlow's C++ logging for the process that links it.
//
// Importing it (for its side effect) adds tfquiet.c to the executable: before the TensorFlow
// shared libraries initialize, it makes sure TF_CPP_MIN_LOG_LEVEL=3 is in the environment
// (re-executing the program once if needed) and sends stderr to /dev/null until they are
// done, so that the notices TensorFlow 2.21 prints from its static initializers never
// reach the consumer's stderr. See tfquiet.c.
package tfquiet

import "C"
