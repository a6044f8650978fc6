#pragma once
// Ctrl-C (SIGINT), SIGTERM and SIGHUP as something a loop can wait on. The
// handler writes one byte to a pipe that is never drained, so its read end
// stays readable from the first signal on: every poll of the run adds it and
// stops within that poll, wherever the run is (a supervisor's start-up, a
// blocking call, a driver's own loop).
namespace crashloop::interrupt {

void install();       // once, first thing; fd() is -1 until then
int fd();             // readable once the run is interrupted
bool requested();     // it is: no graceful ends, the run's jail kills what is left
void throw_if_requested(); // throws Interrupted

} // namespace crashloop::interrupt
