/// Shell code for the watcher processes that stop a server once the process that started it is gone.
public enum ProcessWatch {
    /// Defines the shell function `alive PID`: true while the process exists and is not a zombie.
    ///
    /// `kill -0` alone also succeeds on a zombie, and a test process that died stays one until `swift test` reaps
    /// it, which it does only once every holder of the test's output pipe has closed it. A watcher looping on
    /// `kill -0` and holding that pipe therefore waited for ever, and so did the whole run. Watchers use this
    /// function and are started with their standard streams on `/dev/null`.
    /// Shell builtins only (it runs several times a second in every watcher).
    public static let aliveFunction =
        #"alive() { [ -r "/proc/$1/stat" ] || { kill -0 "$1" 2>/dev/null; return; }; "#
        + #"read -r line < "/proc/$1/stat" 2>/dev/null || return 1; rest=${line##*") "}; [ "${rest%% *}" != Z ]; }"#
}
