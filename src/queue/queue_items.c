/*
 * The queue's items: see queue_items.h.  The table is never more than half
 * full, so probes stay short and there is always an empty slot (which
 * queue_items_filter starts from).  The heap's key is the time an item is
 * due, 0 when it is forced; it holds exactly the items with no attempt
 * under way, and each of them knows its place in it.
 */
#include "queue/queue_items.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define QUEUE_ITEM_AWAY SIZE_MAX        /* not in the heap: in flight */

struct queue_items {
	struct queue_item **slots;      /* cap of them, NULL when empty */
	size_t cap;                     /* a power of two */
	size_t count;                   /* at most cap / 2 */
	struct queue_item **heap;       /* room for cap / 2; nheap used */
	size_t nheap;
};

size_t
queue_items_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;   /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	/* Every byte into the low bits, which choose the slot (MurmurHash3's
	 * finalizer). */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (size_t)h;
}

struct queue_items *
queue_items_new(void)
{
	struct queue_items *qi = xcalloc(1, sizeof(*qi));

	qi->cap = QUEUE_ITEMS_MIN;
	qi->slots = xcalloc(qi->cap, sizeof(*qi->slots));
	qi->heap = xcalloc(qi->cap / 2, sizeof(*qi->heap));
	return qi;
}

void
queue_items_free(struct queue_items **qip)
{
	struct queue_items *qi = *qip;

	if (qi == NULL)
		return;
	for (size_t i = 0; i < qi->cap; i++)
		free(qi->slots[i]);
	free(qi->slots);
	free(qi->heap);
	free(qi);
	*qip = NULL;
}

size_t
queue_items_count(const struct queue_items *qi)
{
	return qi->count;
}

/* The heap */

static time_t
queue_item_due(const struct queue_item *it)
{
	return it->force ? 0 : it->next;
}

static void
queue_heap_put(struct queue_items *qi, size_t i, struct queue_item *it)
{
	qi->heap[i] = it;
	it->heap = i;
}

static void
queue_heap_up(struct queue_items *qi, size_t i)
{
	struct queue_item *it = qi->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (queue_item_due(qi->heap[parent]) <= queue_item_due(it))
			break;
		queue_heap_put(qi, i, qi->heap[parent]);
		i = parent;
	}
	queue_heap_put(qi, i, it);
}

static void
queue_heap_down(struct queue_items *qi, size_t i)
{
	struct queue_item *it = qi->heap[i];

	/* i < nheap <= cap / 2: 2 * i + 2 cannot overflow. */
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= qi->nheap)
			break;
		if (child + 1 < qi->nheap && queue_item_due(qi->heap[child + 1]) <
		    queue_item_due(qi->heap[child]))
			child++;
		if (queue_item_due(it) <= queue_item_due(qi->heap[child]))
			break;
		queue_heap_put(qi, i, qi->heap[child]);
		i = child;
	}
	queue_heap_put(qi, i, it);
}

/* The item at i has a new key, or is new at i. */
static void
queue_heap_fix(struct queue_items *qi, size_t i)
{
	if (i > 0 && queue_item_due(qi->heap[i]) <
	    queue_item_due(qi->heap[(i - 1) / 2]))
		queue_heap_up(qi, i);
	else
		queue_heap_down(qi, i);
}

static void
queue_heap_insert(struct queue_items *qi, struct queue_item *it)
{
	if (it->heap != QUEUE_ITEM_AWAY || qi->nheap >= qi->cap / 2)
		bug("%s: into the heap twice, or past its room", it->id);
	queue_heap_put(qi, qi->nheap++, it);
	queue_heap_up(qi, it->heap);
}

static void
queue_heap_delete(struct queue_items *qi, struct queue_item *it)
{
	size_t i = it->heap;
	struct queue_item *last;

	if (i >= qi->nheap || qi->heap[i] != it)
		bug("%s: not in the heap", it->id);
	last = qi->heap[--qi->nheap];
	it->heap = QUEUE_ITEM_AWAY;
	if (last != it) {
		queue_heap_put(qi, i, last);
		queue_heap_fix(qi, i);
	}
}

/* The table */

/* The slot that holds id, or the empty one where it would go. */
static size_t
queue_table_probe(const struct queue_items *qi, const char *id, size_t hash)
{
	size_t mask = qi->cap - 1, i = hash & mask;
	const struct queue_item *it;

	while ((it = qi->slots[i]) != NULL &&
	    (it->hash != hash || strcmp(it->id, id) != 0))
		i = (i + 1) & mask;
	return i;
}

static void
queue_table_grow(struct queue_items *qi)
{
	size_t cap, mask;
	struct queue_item **slots;

	if (qi->cap > SIZE_MAX / 2 / sizeof(*slots))
		fatal("too many messages in the queue (%zu)", qi->count);
	cap = qi->cap * 2;
	mask = cap - 1;
	slots = xcalloc(cap, sizeof(*slots));
	for (size_t i = 0; i < qi->cap; i++) {
		struct queue_item *it = qi->slots[i];
		if (it == NULL)
			continue;
		size_t j = it->hash & mask;
		while (slots[j] != NULL)
			j = (j + 1) & mask;
		slots[j] = it;
	}
	free(qi->slots);
	qi->slots = slots;
	qi->cap = cap;
	qi->heap = xreallocarray(qi->heap, cap / 2, sizeof(*qi->heap));
}

/* Empties slot hole, moving back the items after it in its cluster that
 * would otherwise no longer be found: each goes to the hole unless its
 * home slot lies after the hole. */
static void
queue_table_delete(struct queue_items *qi, size_t hole)
{
	size_t mask = qi->cap - 1;

	for (size_t j = (hole + 1) & mask; qi->slots[j] != NULL;
	    j = (j + 1) & mask) {
		struct queue_item *it = qi->slots[j];
		if (((j - (it->hash & mask)) & mask) >= ((j - hole) & mask)) {
			qi->slots[hole] = it;
			hole = j;
		}
	}
	qi->slots[hole] = NULL;
	qi->count--;
}

/* Out of both, and freed; i is its slot. */
static void
queue_items_drop(struct queue_items *qi, size_t i)
{
	struct queue_item *it = qi->slots[i];

	if (it->heap != QUEUE_ITEM_AWAY)
		queue_heap_delete(qi, it);
	queue_table_delete(qi, i);
	free(it);
}

/* The operations */

struct queue_item *
queue_items_find(const struct queue_items *qi, const char *id)
{
	return qi->slots[queue_table_probe(qi, id, queue_items_hash(id))];
}

struct queue_item *
queue_items_add(struct queue_items *qi, const char *id, time_t next)
{
	size_t len = strlen(id), hash = queue_items_hash(id), i;
	struct queue_item *it;

	if (len > QUEUE_ID_LEN)
		bug("queue id of %zu bytes", len);
	i = queue_table_probe(qi, id, hash);
	if ((it = qi->slots[i]) != NULL) {
		queue_items_set_next(qi, it, next);
		return it;
	}
	if (qi->count >= qi->cap / 2) {
		queue_table_grow(qi);
		i = queue_table_probe(qi, id, hash);
	}
	it = xcalloc(1, sizeof(*it));
	memcpy(it->id, id, len + 1);
	it->next = next;
	it->created = time(NULL);
	it->hash = hash;
	it->heap = QUEUE_ITEM_AWAY;
	qi->slots[i] = it;
	qi->count++;
	queue_heap_insert(qi, it);
	return it;
}

void
queue_items_set_next(struct queue_items *qi, struct queue_item *it,
    time_t next)
{
	it->next = next;
	if (it->heap != QUEUE_ITEM_AWAY)
		queue_heap_fix(qi, it->heap);
}

size_t
queue_items_take_due(struct queue_items *qi, time_t now,
    struct queue_item *out, size_t max)
{
	size_t n = 0;

	while (n < max && qi->nheap > 0 && queue_item_due(qi->heap[0]) <= now) {
		struct queue_item *it = qi->heap[0];
		out[n++] = *it;
		queue_items_remove(qi, it);
	}
	return n;
}

void
queue_items_flight_start(struct queue_items *qi, struct queue_item *it,
    unsigned n)
{
	if (n > UINT_MAX - it->inflight)
		bug("%s: %u attempts more than %u", it->id, n, it->inflight);
	if (n > 0 && it->inflight == 0)
		queue_heap_delete(qi, it);
	it->inflight += n;
}

unsigned
queue_items_flight_end(struct queue_items *qi, struct queue_item *it)
{
	if (it->inflight == 0)
		bug("%s: an attempt ended, none was under way", it->id);
	if (--it->inflight == 0)
		queue_heap_insert(qi, it);
	return it->inflight;
}

void
queue_items_remove(struct queue_items *qi, struct queue_item *it)
{
	size_t i = queue_table_probe(qi, it->id, it->hash);

	if (qi->slots[i] != it)
		bug("%s: not in the table", it->id);
	queue_items_drop(qi, i);
}

void
queue_items_force(struct queue_items *qi, struct queue_item *it)
{
	it->force = 1;
	if (it->heap != QUEUE_ITEM_AWAY)
		queue_heap_fix(qi, it->heap);
}

void
queue_items_force_all(struct queue_items *qi)
{
	/* Every key in the heap becomes 0, so the heap is in order as it
	 * stands (force is never cleared: a taken item leaves for good). */
	for (size_t i = 0; i < qi->cap; i++)
		if (qi->slots[i] != NULL)
			qi->slots[i]->force = 1;
}

void
queue_items_filter(struct queue_items *qi,
    int (*keep)(const struct queue_item *it, void *arg), void *arg)
{
	size_t mask = qi->cap - 1, start = 0;

	/* Round the table from an empty slot back to it.  Emptying a slot
	 * moves only later items of the same cluster back, never past an
	 * empty slot, hence never past start: looking at the emptied slot
	 * again sees each item exactly once. */
	while (qi->slots[start] != NULL)
		start++;
	for (size_t k = 1; k < qi->cap;) {
		size_t i = (start + k) & mask;
		if (qi->slots[i] == NULL || keep(qi->slots[i], arg))
			k++;
		else
			queue_items_drop(qi, i);
	}
}

int
queue_items_check(const struct queue_items *qi, char *err, size_t errlen)
{
	size_t n = 0, waiting = 0;

	if (qi->cap < QUEUE_ITEMS_MIN || (qi->cap & (qi->cap - 1)) != 0 ||
	    qi->count > qi->cap / 2) {
		snprintf(err, errlen, "count %zu in %zu slots", qi->count, qi->cap);
		return -1;
	}
	for (size_t i = 0; i < qi->cap; i++) {
		const struct queue_item *it = qi->slots[i];
		if (it == NULL)
			continue;
		n++;
		if (it->hash != queue_items_hash(it->id) ||
		    queue_items_find(qi, it->id) != it) {
			snprintf(err, errlen, "%s in slot %zu: not found there", it->id, i);
			return -1;
		}
		if ((it->inflight == 0) != (it->heap != QUEUE_ITEM_AWAY) ||
		    (it->heap != QUEUE_ITEM_AWAY && (it->heap >= qi->nheap ||
		    qi->heap[it->heap] != it))) {
			snprintf(err, errlen, "%s: inflight %u, heap place %zu of %zu",
			    it->id, it->inflight, it->heap, qi->nheap);
			return -1;
		}
		waiting += it->inflight == 0;
	}
	if (n != qi->count || waiting != qi->nheap) {
		snprintf(err, errlen, "%zu items (count %zu), %zu waiting (heap %zu)",
		    n, qi->count, waiting, qi->nheap);
		return -1;
	}
	for (size_t i = 1; i < qi->nheap; i++) {
		if (queue_item_due(qi->heap[(i - 1) / 2]) > queue_item_due(qi->heap[i])) {
			snprintf(err, errlen, "heap out of order at %zu (%s)", i,
			    qi->heap[i]->id);
			return -1;
		}
	}
	return 0;
}
