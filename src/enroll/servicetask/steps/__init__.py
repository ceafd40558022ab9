"""What each step of a service task does (seed 002's "Enter algorithms").

- ``runner``: the table of steps by task kind and state, ``run_step`` and ``run_inline``;
- ``run``: what a step is given (``Run``: the task, its instance, its parsed request and
  workflow) and gives back (a state, ``Wait``, ``FailKeeping``), or raises (``FailUndoing``);
- ``request``: the task's stored request, read through a model;
- ``validation``, ``eligibility``, ``setup``, ``devices``: the steps, in the order a task runs
  them (validate; check_eligibility; setup_enrollment; setup_device and awaiting_device_setup);
- ``completion``: what the last step does, and what ending a task early shares with it;
- ``command``: the device-command endpoint's adapter (the call sent, its answer read).
"""

from enroll.servicetask.steps.completion import end_of, retire_devices
from enroll.servicetask.steps.devices import DEVICE_COMMAND_JOB, DeviceCommandPayload
from enroll.servicetask.steps.run import workflow_of
from enroll.servicetask.steps.runner import Advance, run_inline, run_step

__all__ = [
    "DEVICE_COMMAND_JOB",
    "Advance",
    "DeviceCommandPayload",
    "end_of",
    "retire_devices",
    "run_inline",
    "run_step",
    "workflow_of",
]
