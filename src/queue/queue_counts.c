/*
 * The queue's counters: see queue_counts.h.  Plain integers, as the
 * queue counts on its loop only; kept here because the places that
 * count (queue_deliver.c, queue_outbound.c) do not all hold the queue.
 * The oldest message's age is found by looking at every item once a
 * second: a few milliseconds for 100 000 messages, and no second
 * ordering to keep right beside the heap.
 */
#include "queue/queue_counts.h"

#include <stdint.h>

#include "net/stats.h"
#include "queue/queue_items.h"
#include "util/log.h"

static uint64_t queue_counts[QUEUE_COUNT_N];

void
queue_count(enum queue_count what)
{
	if ((unsigned)what >= QUEUE_COUNT_N)
		bug("queue_count: %d", (int)what);
	queue_counts[what]++;
}

void
queue_counts_created(struct queue_items *qi, const char *id, time_t created)
{
	struct queue_item *it = queue_items_find(qi, id);

	if (it != NULL && created > 0)
		it->created = created;
}

static int
queue_counts_oldest(const struct queue_item *it, void *arg)
{
	time_t *oldest = arg;

	if (*oldest == 0 || it->created < *oldest)
		*oldest = it->created;
	return 1;       /* keep every item: this only looks */
}

void
queue_counts_stats(struct queue_items *qi, time_t now, struct stats *st)
{
	time_t oldest = 0;

	/* queue_items_filter changes nothing when every item is kept. */
	queue_items_filter(qi, queue_counts_oldest, &oldest);
	stats_add(st, "oldest_age", oldest != 0 && now > oldest ?
	    (uint64_t)(now - oldest) : 0);
	stats_add(st, "delivered", queue_counts[QUEUE_COUNT_SENT]);
	stats_add(st, "deferred", queue_counts[QUEUE_COUNT_DEFERRED]);
	stats_add(st, "bounced", queue_counts[QUEUE_COUNT_BOUNCED]);
}
