"""The problems of service tasks, their setup actions, to-dos and devices."""

from __future__ import annotations

from enroll.errors import Conflict, Unprocessable


class TransactionIdReused(Conflict):
    code = "transaction_id_reused"
    description = "a `transactionId` sent before with another request (`serviceTaskId`)"


class TaskInProgress(Conflict):
    code = "task_in_progress"
    description = "a service task of the enrollment is still open (`serviceTaskId`)"


class NotEnrolled(Conflict):
    code = "not_enrolled"
    description = "unenrolling an enrollment that is not approved"


class InvalidReason(Unprocessable):
    code = "invalid_reason"
    description = "an unenrollment `reason` the instance's setup workflow does not list"


class InvalidTaskTransition(Conflict):
    code = "invalid_task_transition"
    description = (
        "an operation the task's state does not allow (`currentState`, `allowedOperations`)"
    )


class TaskNotCorrectable(Conflict):
    code = "task_not_correctable"
    description = "correcting a task that is not in an error state (`currentState`)"


class ActionNotInProgress(Conflict):
    code = "action_not_in_progress"
    description = "reporting on a setup action that is not in progress (`currentStatus`)"


class TodoCompleted(Conflict):
    code = "todo_completed"
    description = "completing a to-do that is completed already"


class TodoNeedsDecision(Conflict):
    code = "todo_needs_decision"
    description = (
        "completing an approval to-do, which approving or rejecting its task answers"
        " (`serviceTaskId`)"
    )


class DeviceExists(Conflict):
    code = "device_exists"
    description = "a device with that manufacturer and serial number is in the inventory"
