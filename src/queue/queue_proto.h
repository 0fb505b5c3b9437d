/*
 * What the queue's peers tell it: smtpd announces each message it has
 * queued.  The queue answers nothing; a message it was not told about is
 * found by its scan of the folder (queue.c).
 */
#ifndef TERN_QUEUE_PROTO_H
#define TERN_QUEUE_PROTO_H

enum queue_msg_type {
	/* smtpd -> queue */
	IPC_QUEUE_NEW = 20,     /* the queue id, QUEUE_ID_LEN bytes, no length field */
	/* queue -> smtpd, for the filters (plugin/filter_report.c), sent
	 * only when `filters` is set: */
	IPC_QUEUE_REPORT = 21,  /* u32 filter_event (delivered, deferred,
	                         * bounced), str id, str rcpt, str detail */
};

#endif
