#include "labd/jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

struct jobs {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;     /* queued */
	struct job *done_head;       /* finished, waiting for jobs_collect */
	size_t pending;              /* queued + running + finished-not-collected */
	bool stopping;
	int pipe[2];                 /* a byte per finished job wakes the main loop */
	pthread_t *threads;
	unsigned n_threads;
};

static void *jobs_worker(void *arg)
{
	struct jobs *p = arg;

	for (;;) {
		struct job *j;
		char byte = 1;

		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stopping) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);

		j->result = 0;
		j->error[0] = '\0';
		j->run(j);

		pthread_mutex_lock(&p->lock);
		j->next = p->done_head;
		p->done_head = j;
		pthread_mutex_unlock(&p->lock);
		if (write(p->pipe[1], &byte, 1) < 0 && errno != EAGAIN)
			log_warn("jobs: wake-up pipe");
	}
}

int jobs_start(unsigned threads, struct jobs **out)
{
	struct jobs *p = calloc(1, sizeof(*p));
	unsigned i;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pipe2(p->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		int ret = -errno;

		free(p);
		return ret;
	}
	p->threads = calloc(threads, sizeof(*p->threads));
	if (!p->threads) {
		close(p->pipe[0]);
		close(p->pipe[1]);
		free(p);
		return -ENOMEM;
	}
	for (i = 0; i < threads; i++) {
		if (pthread_create(&p->threads[i], NULL, jobs_worker, p) != 0)
			break;
	}
	p->n_threads = i;
	if (i == 0) {
		jobs_stop(p);
		return -EAGAIN;
	}
	*out = p;
	return 0;
}

void jobs_submit(struct jobs *p, struct job *j)
{
	pthread_mutex_lock(&p->lock);
	j->next = NULL;
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->pending++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int jobs_fd(const struct jobs *p)
{
	return p->pipe[0];
}

void jobs_collect(struct jobs *p)
{
	struct job *list, *rev = NULL;
	char buf[64];

	while (read(p->pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&p->lock);
	list = p->done_head;
	p->done_head = NULL;
	pthread_mutex_unlock(&p->lock);
	/* Completion order: oldest first. */
	while (list) {
		struct job *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct job *next = rev->next;

		pthread_mutex_lock(&p->lock);
		p->pending--;
		pthread_mutex_unlock(&p->lock);
		rev->done(rev);
		rev = next;
	}
}

size_t jobs_pending(struct jobs *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->pending;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void jobs_stop(struct jobs *p)
{
	struct job *queued;
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	queued = p->head;
	p->head = p->tail = NULL;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	while (queued) {
		struct job *next = queued->next;

		queued->result = -ECANCELED;
		snprintf(queued->error, sizeof(queued->error), "labd is stopping");
		queued->done(queued);
		queued = next;
	}
	jobs_collect(p);
	close(p->pipe[0]);
	close(p->pipe[1]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->threads);
	free(p);
}
