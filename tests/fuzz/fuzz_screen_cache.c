/*
 * libFuzzer harness for the screen's remembered-clients file (a damaged
 * or tampered state_dir/screen.cache): the input is written as the file
 * and loaded into a small store.  Checks that the store keeps its bound,
 * that every line is counted once, and that what was loaded saves and
 * loads back whole, with no bad line and the same entries.  Works in a
 * directory of its own under /dev/shm (or /tmp), where fsync costs little.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "screen/screen_cache.h"

#define FUZZ_MAX 64
#define FUZZ_NOW ((time_t)1800000000)
#define FUZZ_TTL ((time_t)86400)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_tmp[64];

/* The directory goes with the process: nothing is left in /dev/shm. */
static void
fuzz_cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", fuzz_tmp, SCREEN_CACHE_FILE);
	unlink(path);
	rmdir(fuzz_tmp);
}

static const char *
fuzz_dir(void)
{
	if (fuzz_tmp[0] != '\0')
		return fuzz_tmp;
	snprintf(fuzz_tmp, sizeof(fuzz_tmp), "/dev/shm/tern-fuzz-screen-XXXXXX");
	if (mkdtemp(fuzz_tmp) == NULL) {
		snprintf(fuzz_tmp, sizeof(fuzz_tmp), "/tmp/tern-fuzz-screen-XXXXXX");
		if (mkdtemp(fuzz_tmp) == NULL)
			abort();
	}
	atexit(fuzz_cleanup);
	return fuzz_tmp;
}

static void
fuzz_write(const char *dir, const uint8_t *data, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, SCREEN_CACHE_FILE);
	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *dir = fuzz_dir();
	struct screen_cache *c = screen_cache_new(FUZZ_MAX), *d;
	struct screen_cache_stats st, st2;
	size_t lines = 0;

	fuzz_write(dir, data, size);
	if (screen_cache_load(c, dir, SCREEN_CACHE_FILE, FUZZ_NOW, FUZZ_TTL,
	    &st) < 0)
		abort();
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	lines += size > 0 && data[size - 1] != '\n';
	/* Every line but the header is loaded, expired or bad, once. */
	if (st.loaded + st.expired + st.bad > lines ||
	    (lines > 0 && st.loaded + st.expired + st.bad + 1 < lines))
		abort();
	if (screen_cache_count(c) > FUZZ_MAX ||
	    screen_cache_count(c) > st.loaded)
		abort();
	if (screen_cache_save(c, dir, SCREEN_CACHE_FILE, FUZZ_NOW) < 0)
		abort();
	d = screen_cache_new(FUZZ_MAX);
	if (screen_cache_load(d, dir, SCREEN_CACHE_FILE, FUZZ_NOW, FUZZ_TTL,
	    &st2) < 0 || st2.bad != 0 || st2.expired != 0 ||
	    st2.loaded != screen_cache_count(c) ||
	    screen_cache_count(d) != screen_cache_count(c))
		abort();
	screen_cache_free(&d);
	screen_cache_free(&c);
	return 0;
}
