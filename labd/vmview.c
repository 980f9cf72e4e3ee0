#include "labd/vmview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vm_state_name(enum vm_state s)
{
	switch (s) {
	case VM_UNKNOWN: return "unknown";
	case VM_MISSING: return "missing";
	case VM_RUNNING: return "running";
	case VM_SHUTOFF: return "shut off";
	case VM_PAUSED:  return "paused";
	case VM_CRASHED: return "crashed";
	case VM_OTHER:   return "other";
	}
	return "other";
}

enum vm_state vm_state_from_virt(enum virt_state s)
{
	switch (s) {
	case VIRT_MISSING: return VM_MISSING;
	case VIRT_RUNNING: return VM_RUNNING;
	case VIRT_SHUTOFF: return VM_SHUTOFF;
	case VIRT_PAUSED:  return VM_PAUSED;
	case VIRT_CRASHED: return VM_CRASHED;
	case VIRT_OTHER:   return VM_OTHER;
	}
	return VM_OTHER;
}

struct vm *vmview_find(struct vmview *v, const char *student)
{
	struct vm *vm = NULL;

	HASH_FIND_STR(v->vms, student, vm);
	return vm;
}

struct vm *vmview_get(struct vmview *v, const char *student)
{
	struct vm *vm = vmview_find(v, student);

	if (vm)
		return vm;
	if (!id_valid(student) || !(vm = calloc(1, sizeof(*vm))))
		return NULL;
	snprintf(vm->student, sizeof(vm->student), "%s", student);
	vm->state = VM_UNKNOWN;
	HASH_ADD_STR(v->vms, student, vm);
	return vm;
}

void vmview_forget(struct vmview *v, const char *student)
{
	struct vm *vm = vmview_find(v, student);

	if (!vm)
		return;
	HASH_DEL(v->vms, vm);
	free(vm);
}

void vmview_clear(struct vmview *v)
{
	struct vm *vm, *tmp;

	HASH_ITER(hh, v->vms, vm, tmp) {
		HASH_DEL(v->vms, vm);
		free(vm);
	}
}

const char *vmview_state_text(const struct vmview *v, const struct vm *vm)
{
	if (!v->synced)
		return "unknown";
	if (!vm)
		return vm_state_name(VM_MISSING);
	if (vm->crashed && vm->state != VM_RUNNING)
		return "crashed";
	return vm_state_name(vm->state);
}

void vmview_event(struct vmview *v, struct vm *vm, enum virt_state state, bool crashed)
{
	enum vm_state s = vm_state_from_virt(state);

	vm->state = s;
	vm->event_seq = ++v->events;
	if (crashed)
		vm->crashed = true;
	else if (s == VM_RUNNING)
		vm->crashed = false;
}
