/*
 * A fixed pool of worker threads for the slow libvirt calls of bulk operations (create,
 * reset, stop...), so a class is provisioned CONF->parallel students at a time while the
 * main thread keeps serving its event loop. Workers never touch the database or sockets:
 * a finished job comes back to the main thread through a pipe (jobs_fd), and the main
 * thread calls jobs_collect() to run each job's completion there.
 */
#ifndef VLAB_JOBS_H
#define VLAB_JOBS_H

#include <stddef.h>

struct job {
	/* set by the submitter */
	void (*run)(struct job *j);          /* in a worker thread */
	void (*done)(struct job *j);         /* in the main thread, after run; frees J */
	void *ctx;
	/* set by run */
	int result;                          /* 0 or -errno */
	char error[512];
	struct job *next;                    /* queue link, owned by the pool */
};

struct jobs;

int jobs_start(unsigned threads, struct jobs **out);
/* Stops the workers after the jobs being run; queued jobs are dropped (their done is
 * called with result -ECANCELED). */
void jobs_stop(struct jobs *p);
void jobs_submit(struct jobs *p, struct job *j);
/* The read end of the completion pipe, for the event loop. */
int jobs_fd(const struct jobs *p);
/* Runs the done callback of every finished job. */
void jobs_collect(struct jobs *p);
/* Jobs queued or running. */
size_t jobs_pending(struct jobs *p);

#endif
