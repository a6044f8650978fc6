#pragma once
// `crashloop check --real UNIT --dropin …`: the same questions as `check`, put
// to the unit's REAL daemon (its own ExecStart=, ExecReload=, ExecStop=,
// Environment=, Type=, PIDFile=, KillSignal=, KillMode=, Restart= …) run as a
// transient service on the built-in private systemd, instead of the fake httpd.
// The user vouches that the daemon is safe to run; crashloop never touches the
// host's own services.
//
// A real daemon keeps no event log for us, so a cell is judged from what the
// OS and systemd show: the main pid before the trigger (P1), a pidfd on it that
// says when it really died, systemd's account of how it ended (ExecMainCode=,
// ExecMainStatus=, Result=), the next MainPID (P2 ≠ P1, alive) once the unit is
// active/running again, and NRestarts cross-checked against the distinct main
// pids seen. "Stays down" is decided on a confirmed state read (inactive or
// failed, no job queued). Only what can be done to a daemon from outside runs:
// a signal to its main pid (`kill -s SIG <MainPID>`, sent through a pidfd) and
// systemd's own stop; plus N graceful reloads when the unit has ExecReload=.
// Cells run one at a time: a real daemon usually binds a fixed port.
#include <vector>

#include "check.hpp"

namespace crashloop {

class UnitFile;

// The row of the graceful-reload check (group "real"), after the causes.
inline constexpr const char* graceful_reload_id = "graceful-reload";

// Runs `causes` (already selected, the unit's rules added) against the real
// daemon of `unit` on `supervisor`, which must be the built-in private systemd.
// `report` comes in with its title, settings and warnings; it goes out with its
// notes, causes, one cell per cause (n/a ones with their reason) and answers.
// Throws InputError (an EnvironmentFile= that is missing), SupervisorError (the
// daemon would not stop, so the next cell cannot run), Interrupted.
CheckReport run_real_check(Supervisor& supervisor, const RestartTable& table,
                           const Expectations& expectations, const UnitFile& unit,
                           CheckReport report, const std::vector<ExitCause>& causes,
                           const CheckOptions& options);

} // namespace crashloop
