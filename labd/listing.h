/*
 * What `list` and `sheet` answer: every student of a filter, written as JSON text straight
 * from one database query (db_roster_each) and the VM view, with no json-c object per
 * student and no libvirt call. With 1000 students that is a third of a megabyte, and
 * building then freeing a tree of 16,000 objects for it was most of labd's time for a
 * list (docs/performance.md, P9). The text is exactly what json-c would write for the
 * same objects (strings go through json-c's own escaping).
 */
#ifndef VLAB_LABD_LISTING_H
#define VLAB_LABD_LISTING_H

#include <json-c/json.h>

#include "labd/labd.h"
#include "labd/request.h"

/* The value of list's "students" / sheet's "entries" for F: a json-c array whose
 * serializer writes the rendered text (not an array to read in-process). NULL with
 * *ERR -errno (-ENOMEM, a database error). */
json_object *listing_students(struct labd *l, const struct labd_filter *f, int *err);
json_object *listing_sheet(struct labd *l, const struct labd_filter *f, int *err);

#endif
