internal import Glibc

/// Stopping one instance while the service goes on (`Retirement`): the
/// old instance once an overlapping one is ready, or a new one that did not
/// become ready. Each follows the service's stop plan on its own clock.
extension Supervisor {
    /// Starts stopping the instance whose main process is `handle`
    /// (`exited`: it has already been reaped; what it left is stopped).
    func retire(_ handle: ProcessHandle, exited: Bool) {
        retirements.append(Retirement(main: handle, mainExited: exited, plan: StopRequest.plan(configuration)))
        state.oldPID = retirements.first?.main.pid
        sendRetirementStep(retirements.count - 1)
        checkRetirements()
    }

    /// The step's signal to the instance's main process and, with a step
    /// for everyone, to its session's processes that have not had it.
    private func sendRetirementStep(_ index: Int) {
        var retirement = retirements[index]
        let step = retirement.plan.steps[retirement.step]
        send(step, to: retirement.mainExited ? nil : retirement.main, session: retirement.session, signalled: &retirement.signalled)
        if retirement.nextStepAt == nil {
            retirement.nextStepAt = step.wait.map { Monotonic.now() + $0.nanoseconds }
        }
        retirements[index] = retirement
    }

    /// True when `pid` was a retiring instance's main process (now reaped).
    func retirementReaped(_ pid: pid_t) -> Bool {
        guard let index = retirements.firstIndex(where: { $0.main.pid == pid && !$0.mainExited }) else { return false }
        retirements[index].mainExited = true
        return true
    }

    /// The next step of every retirement that outlived its wait.
    func retirementsDue(now: Int64) {
        for index in retirements.indices {
            guard let due = retirements[index].nextStepAt, now >= due, retirements[index].step + 1 < retirements[index].plan.steps.count else { continue }
            let waited = retirements[index].plan.steps[retirements[index].step].wait ?? .zero
            retirements[index].step += 1
            retirements[index].signalled = []
            retirements[index].nextStepAt = nil
            let signal = retirements[index].plan.steps[retirements[index].step].signal
            log.note("\(configuration.name): instance (pid \(retirements[index].main.pid)) did not stop within \(waited): sending \(signal.name)")
            sendRetirementStep(index)
        }
    }

    var retirementDeadline: Int64? { retirements.compactMap(\.nextStepAt).min() }

    /// Signals processes that joined a retiring instance since its step
    /// began (orphans adopted), and ends the retirements with nothing left.
    func checkRetirements() {
        guard !retirements.isEmpty else { return }
        for index in retirements.indices { sendRetirementStep(index) }
        let before = retirements.count
        retirements.removeAll { retirement in
            guard retirement.mainExited, ProcessTree.descendants(of: selfPID, inSession: retirement.session).isEmpty else { return false }
            routine("\(configuration.name): instance (pid \(retirement.main.pid)) stopped")
            retirement.main.close()
            return true
        }
        if retirements.count != before {
            state.oldPID = retirements.first?.main.pid
            save()
        }
    }
}
