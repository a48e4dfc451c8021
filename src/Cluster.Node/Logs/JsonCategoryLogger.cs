using Microsoft.Extensions.Logging;

namespace Cluster.Node.Logs;

/// <summary>
/// One ASP.NET Core log category written as JSON lines; <c>vm</c> comes from a request path under <c>/api/.../vms/ID</c>
/// or a value that names a VM among the line's state (<see cref="LogSubjects"/>).
/// </summary>
public sealed class JsonCategoryLogger(string category, JsonLogWriter writer) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
            return;
        var values = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
        var subjects = LogSubjects.From(null, values.Select(v => v.Value));
        if (subjects.Vm is null && values.FirstOrDefault(v => v.Key is "Path" or "RequestPath").Value is string path)
            subjects = subjects with { Vm = VmOfPath(path) };
        writer.Write(DateTime.UtcNow, Level(logLevel), category, null, formatter(state, exception), subjects, exception);
    }

    /// <summary>The VM a request path names (<c>/api/vms/ID...</c> or <c>/api/v1/vms/ID...</c>), or null.</summary>
    public static string? VmOfPath(string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.IndexOf(segments, "vms");
        return at is 1 or 2 && segments[0] == "api" && at + 1 < segments.Length ? Uri.UnescapeDataString(segments[at + 1]) : null;
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warning",
        LogLevel.Error => "error",
        _ => "critical",
    };
}
