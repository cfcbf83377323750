/* interrupt.c -- signal handlers (see interrupt.h). */
#define _DEFAULT_SOURCE
#include "interrupt.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t requested;
static volatile sig_atomic_t first_at;  /* monotonic second of the first */

/* The same signal often arrives twice at once (mpirun forwards what a
 * user also sent to rank 0 directly), so only a signal a second or more
 * after the first counts as a second one. */
static void on_signal(int sig)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (requested && ts.tv_sec - first_at >= 1)
        _exit(128 + sig);
    if (!requested) {
        first_at = (sig_atomic_t)ts.tv_sec;
        requested = sig;
    }
}

void interrupt_install(int rank0)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGUSR1};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = rank0 ? on_signal : SIG_IGN;
    sa.sa_flags = SA_RESTART;
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

int interrupt_requested(void)
{
    return requested;
}
