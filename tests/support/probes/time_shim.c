/* Steps the wall clock that durable-rules' C core reads (time()) forward, for the engine tests.
 * Loaded with LD_PRELOAD: every TRIAGE_SHIM_EVERY calls, the clock jumps TRIAGE_SHIM_STEP
 * seconds further ahead, as after an NTP step or a resumed virtual machine. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static long calls, steps, every = 701, step = 11;
static time_t (*real_time)(time_t *);

static void setup(void) {
    const char *e = getenv("TRIAGE_SHIM_EVERY"), *s = getenv("TRIAGE_SHIM_STEP");
    if (e) every = atol(e);
    if (s) step = atol(s);
    real_time = (time_t (*)(time_t *))dlsym(RTLD_NEXT, "time");
}

time_t time(time_t *out) {
    if (!real_time) setup();
    if (++calls % every == 0) ++steps;
    time_t now = real_time(NULL) + steps * step;
    if (out) *out = now;
    return now;
}

long triage_shim_steps(void) { return steps; }
long triage_shim_calls(void) { return calls; }
