using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Cluster.Node.Logs;

/// <summary>
/// Writes log lines as one JSON object per line: <c>timestamp</c> (UTC, ISO 8601), <c>level</c> (trace, debug, info,
/// warning, error, critical), <c>logger</c> (the class or category), <c>source</c> (an actor's path, when Akka logged it),
/// <c>message</c>, and <c>vm</c> and <c>migration</c> whenever the line is about one (<see cref="LogSubjects"/>), and
/// <c>exception</c> with its stack when there is one. Lines from many threads never interleave.
/// </summary>
public sealed class JsonLogWriter(TextWriter output)
{
    /// <summary>The process's standard output.</summary>
    public static JsonLogWriter StandardOutput { get; } = new(Console.Out);

    private readonly Lock _lock = new();

    /// <summary>Writes one line.</summary>
    public void Write(DateTime timestamp, string level, string logger, string? source, string message, LogSubjects subjects, Exception? exception)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", timestamp.ToUniversalTime());
            json.WriteString("level", level);
            json.WriteString("logger", logger);
            if (source is not null)
                json.WriteString("source", source);
            json.WriteString("message", message);
            if (subjects.Vm is not null)
                json.WriteString("vm", subjects.Vm);
            if (subjects.Migration is not null)
                json.WriteString("migration", subjects.Migration);
            if (exception is not null)
                json.WriteString("exception", exception.ToString());
            json.WriteEndObject();
        }
        var line = Encoding.UTF8.GetString(buffer.WrittenSpan);
        lock (_lock)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}
