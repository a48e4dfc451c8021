using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace Cluster.Node.Logs;

/// <summary>
/// Akka's logger in JSON (<c>akka.loggers</c> names it when <see cref="NodeLogging.FormatKey"/> is json): every log event
/// as one line of <see cref="JsonLogWriter"/> on standard output, its <c>vm</c> and <c>migration</c> taken from the logging
/// actor's path and the message's arguments (<see cref="LogSubjects"/>).
/// </summary>
public class JsonAkkaLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public JsonAkkaLogger() : this(JsonLogWriter.StandardOutput)
    {
    }

    /// <summary>A logger that writes to <paramref name="writer"/> (a subclass with a parameterless constructor, for Akka to create).</summary>
    protected JsonAkkaLogger(JsonLogWriter writer)
    {
        Receive<LogEvent>(e => writer.Write(e.Timestamp, Level(e.LogLevel()), Logger(e), e.LogSource, Text(e.Message),
            LogSubjects.From(e.LogSource, e.GetParameters() ?? []), e.Cause));
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
    }

    /// <summary>The logging class; for a line logged under a plain name (Akka's "remoting (akka://...)"), that name.</summary>
    private static string Logger(LogEvent e) =>
        e.LogClass is null || e.LogClass == typeof(DummyClassForStringSources)
            ? e.LogSource?.Split(" (")[0] ?? "akka"
            : e.LogClass.FullName ?? e.LogClass.Name;

    private static string Text(object? message) => message?.ToString() ?? "";

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.DebugLevel => "debug",
        LogLevel.InfoLevel => "info",
        LogLevel.WarningLevel => "warning",
        _ => "error",
    };
}
