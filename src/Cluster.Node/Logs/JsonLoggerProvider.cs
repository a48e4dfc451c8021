using Microsoft.Extensions.Logging;

namespace Cluster.Node.Logs;

/// <summary>ASP.NET Core's logs in the same JSON lines as Akka's (<see cref="JsonLogWriter"/>), when the node logs JSON.</summary>
public sealed class JsonLoggerProvider(JsonLogWriter writer) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new JsonCategoryLogger(categoryName, writer);

    public void Dispose()
    {
    }
}
