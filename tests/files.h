/* File-system helpers shared by the test suites. */
#ifndef NNC_TEST_FILES_H
#define NNC_TEST_FILES_H

/* Removes dir and everything under it (a test's temporary folder); symbolic links are removed,
 * not followed. Quiet when dir is missing: cleanup must not fail a test. */
void remove_tree(const char *dir);

#endif
