// notify ready|reloading|watchdog|stopping|interval: sends one message with
// Notify and prints what became of it ("sent", "no supervisor", "failed:
// ..."), or the watchdog interval the supervisor asked for.
import Daemonize

switch CommandLine.arguments.dropFirst().first {
case "interval":
    print(Notify.watchdogInterval.map { "\($0)" } ?? "none")
case let what?:
    let delivery: Notify.Delivery
    switch what {
    case "ready": delivery = Notify.ready(status: "all good")
    case "reloading": delivery = Notify.reloading()
    case "watchdog": delivery = Notify.watchdog()
    default: delivery = Notify.stopping()
    }
    switch delivery {
    case .sent: print("sent")
    case .noSupervisor: print("no supervisor")
    case .failed(let error): print("failed: \(error)")
    }
case nil:
    print("usage: notify ready|reloading|watchdog|stopping|interval")
}
