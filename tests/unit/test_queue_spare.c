/*
 * Unit tests of spare queue files: a message leaving the queue becomes a
 * spare unless it is large, smtpd's take hands it back under a new name
 * to be written over, an empty folder is not read at every take, the
 * folder is trimmed, names that are not queue ids are left alone, and
 * without queue/spare the file is simply removed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/queue_file.h"
#include "queue/queue_spare.h"

struct fx {
	char dir[64];           /* the queue folder */
	char spare[PATH_MAX];
	char tmp[PATH_MAX];
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tern-test-spare.XXXXXX");
	if (fx == NULL || mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->spare, sizeof(fx->spare), "%s/spare", fx->dir);
	snprintf(fx->tmp, sizeof(fx->tmp), "%s/tmp", fx->dir);
	if (mkdir(fx->spare, 0700) < 0 || mkdir(fx->tmp, 0700) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* A file of len bytes at dir/name. */
static void
make_file(const char *dir, const char *name, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

static off_t
file_size(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) < 0)
		return -1;
	return st.st_size;
}

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
test_keep_moves_small_removes_large(void **state)
{
	struct fx *fx = *state;
	char id[QUEUE_ID_BUF], big[QUEUE_ID_BUF];

	queue_id_new(id);
	make_file(fx->dir, id, 300);
	assert_int_equal(queue_spare_keep(fx->dir, id), 0);
	assert_int_equal(file_size(fx->dir, id), -1);
	assert_int_equal(file_size(fx->spare, id), 300);
	queue_id_new(big);
	make_file(fx->dir, big, QUEUE_SPARE_SIZE_MAX + 1);
	assert_int_equal(queue_spare_keep(fx->dir, big), 0);
	assert_int_equal(file_size(fx->dir, big), -1);
	assert_int_equal(file_size(fx->spare, big), -1);
	/* Gone already: ENOENT, as unlink would say. */
	assert_int_equal(queue_spare_keep(fx->dir, id), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(queue_spare_keep(fx->dir, "../escape"), -1);
}

static void
test_take_hands_back_a_file_to_write_over(void **state)
{
	struct fx *fx = *state;
	struct queue_spares *sp = calloc(1, sizeof(*sp));
	char id[QUEUE_ID_BUF], dst[PATH_MAX], fresh[QUEUE_ID_BUF];
	int fd;

	queue_spares_init(sp, fx->dir);
	queue_id_new(id);
	make_file(fx->spare, id, 200);
	queue_id_new(fresh);
	snprintf(dst, sizeof(dst), "%s/%s", fx->tmp, fresh);
	fd = queue_spare_take(sp, dst);
	assert_true(fd >= 0);
	/* Written from its start; cut to length as smtpd does. */
	assert_int_equal(write(fd, "new", 3), 3);
	assert_int_equal(file_size(fx->tmp, fresh), 200);
	assert_int_equal(ftruncate(fd, 3), 0);
	close(fd);
	assert_int_equal(file_size(fx->tmp, fresh), 3);
	assert_int_equal(count_entries(fx->spare), 0);
	free(sp);
}

static void
test_empty_folder_read_again_later(void **state)
{
	struct fx *fx = *state;
	struct queue_spares *sp = calloc(1, sizeof(*sp));
	char id[QUEUE_ID_BUF], dst[PATH_MAX];
	int fd = -1, takes = 0;

	queue_spares_init(sp, fx->dir);
	snprintf(dst, sizeof(dst), "%s/tmp/target", fx->dir);
	assert_int_equal(queue_spare_take(sp, dst), -1);
	queue_id_new(id);
	make_file(fx->spare, id, 10);
	/* Not seen at once: the folder was just found empty. */
	assert_int_equal(queue_spare_take(sp, dst), -1);
	while (fd < 0 && takes++ <= QUEUE_SPARE_SKIP + 1)
		fd = queue_spare_take(sp, dst);
	assert_true(fd >= 0);
	assert_in_range(takes, QUEUE_SPARE_SKIP - 1, QUEUE_SPARE_SKIP + 1);
	close(fd);
	assert_int_equal(file_size(fx->tmp, "target"), 10);
	free(sp);
}

static void
test_folder_trimmed_and_strangers_left(void **state)
{
	struct fx *fx = *state;
	struct queue_spares *sp = calloc(1, sizeof(*sp));
	char id[QUEUE_ID_BUF], dst[PATH_MAX];
	int fd;

	for (size_t i = 0; i < QUEUE_SPARE_KEEP + 20; i++) {
		queue_id_new(id);
		make_file(fx->spare, id, 0);
	}
	make_file(fx->spare, "not-a-queue-id", 5);
	queue_spares_init(sp, fx->dir);
	snprintf(dst, sizeof(dst), "%s/tmp/target", fx->dir);
	fd = queue_spare_take(sp, dst);
	assert_true(fd >= 0);
	close(fd);
	/* The stranger, and no more than QUEUE_SPARE_KEEP spares. */
	assert_true(count_entries(fx->spare) <= QUEUE_SPARE_KEEP + 1);
	assert_int_equal(file_size(fx->spare, "not-a-queue-id"), 5);
	/* The ring holds names of files that are still there. */
	assert_int_equal(sp->n, QUEUE_SPARE_RING - 1);
	for (size_t i = 0; i < sp->n; i++)
		assert_int_equal(file_size(fx->spare, sp->names[i]), 0);
	/* What the ring holds is not trimmed either. */
	assert_true(count_entries(fx->spare) >= QUEUE_SPARE_RING);
	free(sp);
}

static void
test_without_spare_folder_removes(void **state)
{
	struct fx *fx = *state;
	char id[QUEUE_ID_BUF];

	assert_int_equal(rmdir(fx->spare), 0);
	queue_id_new(id);
	make_file(fx->dir, id, 100);
	assert_int_equal(queue_spare_keep(fx->dir, id), 0);
	assert_int_equal(file_size(fx->dir, id), -1);
	assert_int_equal(mkdir(fx->spare, 0700), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keep_moves_small_removes_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_hands_back_a_file_to_write_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_folder_read_again_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_trimmed_and_strangers_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_spare_folder_removes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
