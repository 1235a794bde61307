/* Running shell command lines from tests, as a user at a terminal would (tests/shell.c). */
#ifndef NNC_TEST_SHELL_H
#define NNC_TEST_SHELL_H

/* Runs `/bin/sh -c cmd` in dir with the folder of the nnc binary first on PATH (so that the
 * line's `nnc` is the one under test), stdout and stderr together. Returns the output
 * (malloc'd, NUL-terminated; NULL when the command could not be run) and the exit status in
 * *status (128 + N for signal N, a 60 s alarm among them). */
char *t_shell(const char *dir, const char *cmd, int *status);

#endif
