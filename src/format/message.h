/* The one printf-style writer of error messages below the model (src/format/message.c): the
 * readers and writers fill a caller's buffer and fail with -1. */
#ifndef NNC_MESSAGE_H
#define NNC_MESSAGE_H
#include <stddef.h>

/* Writes the message into buf (n bytes; buf may be NULL) and returns -1. */
int nnc_msg(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The buffer and size of an nnc_error pointer that may be NULL, for nnc_msg. */
#define NNC_ERRBUF(e) ((e) ? (e)->message : NULL), sizeof((e)->message)

#endif
