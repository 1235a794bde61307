/* Ctrl-C during `nnc train`: the first SIGINT asks fit to stop after the batch it is in (a
 * flag fit reads, so the handler does nothing unsafe); the command then says where it stopped
 * and exits 130 without saving. The handler resets itself, so a second Ctrl-C kills at once,
 * which is safe because every save is atomic. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>
#include "cli.h"

/* Process-wide by nature: a signal has one handler per process. */
static volatile sig_atomic_t interrupted;
static struct sigaction previous;
static int installed;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

const volatile sig_atomic_t *cli_interrupt_begin(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    /* A run started with SIGINT ignored (a background job of a script) keeps ignoring it. */
    installed = sigaction(SIGINT, NULL, &previous) == 0 && previous.sa_handler != SIG_IGN &&
                sigaction(SIGINT, &sa, NULL) == 0;
    return &interrupted;
}

void cli_interrupt_end(void) {
    if (installed) sigaction(SIGINT, &previous, NULL);
    installed = 0;
}

int cli_interrupt_message(const nnc_model *m, const nnc_fit_opts *fo, char *err, size_t n) {
    int backup = 0;
    for (int i = 0; fo->callbacks && i < fo->n_callbacks; i++) {
        const char *name = nnc_callback_name(fo->callbacks[i]);
        backup |= name && !strcmp(name, "backup_and_restore");
    }
    /* the interrupted epoch is not counted; a backup holds the ones before it */
    int epoch = nnc_model_epochs_done(m) + 1;
    if (backup) snprintf(err, n, "interrupted in epoch %d; run the same command to resume from epoch %d", epoch, epoch);
    else snprintf(err, n, "interrupted in epoch %d; nothing saved", epoch);
    return CLI_INTERRUPTED;
}
