/* Small file-system helpers shared by the daemons. */
#ifndef VLAB_FSUTIL_H
#define VLAB_FSUTIL_H

#include <sys/types.h>

/* mkdir -p PATH with MODE for the directories it creates. 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);

#endif
