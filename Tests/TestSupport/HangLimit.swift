import Testing

extension Trait where Self == TimeLimitTrait {
    /// The time limit of every suite: long enough for the whole run, there
    /// to catch a test that hangs. swift-testing starts a test's clock when
    /// the test is scheduled, and the synchronous tests run a few at a time
    /// on 2 cores, so a test that takes milliseconds can wait minutes for its
    /// turn: with 5 minutes each, a run of 6 m 50 s under load failed 57 such
    /// tests (InputTests among them) on their limit. The whole `swift test`
    /// stays well under it (Tests/RELIABILITY.md); the stress suites, which
    /// run alone in `make stress`, too.
    package static var hangLimit: Self { .timeLimit(.minutes(20)) }
}
