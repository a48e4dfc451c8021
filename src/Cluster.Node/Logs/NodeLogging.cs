using Akka.Configuration;

namespace Cluster.Node.Logs;

/// <summary>
/// The node's log format: <see cref="FormatKey"/> in its HOCON (or <c>cluster-node run --log-format</c>) is <c>text</c>
/// (Akka's own lines, the default) or <c>json</c>: Akka logs through <see cref="JsonAkkaLogger"/> and the HTTP API's
/// ASP.NET Core logs through <see cref="JsonLoggerProvider"/>, one JSON object per line on standard output. In json
/// the standard-out logger of Akka's start and stop is silenced, so that every line parses.
/// </summary>
public static class NodeLogging
{
    /// <summary>The configuration key.</summary>
    public const string FormatKey = "cluster-hypervisor.log-format";

    /// <summary>The formats.</summary>
    public static readonly IReadOnlyList<string> Formats = ["text", "json"];

    /// <summary>The configuration that sets <paramref name="format"/>, to layer over the rest.</summary>
    public static Config Format(string format) => ConfigurationFactory.ParseString($"{FormatKey} = {format}");

    /// <summary><paramref name="config"/> with Akka's loggers chosen by its log format.</summary>
    /// <exception cref="ConfigurationException">the format is neither text nor json.</exception>
    public static Config Apply(Config config) =>
        IsJson(config)
            ? ConfigurationFactory.ParseString($"akka.loggers = [\"{typeof(JsonAkkaLogger).FullName}, {typeof(JsonAkkaLogger).Assembly.GetName().Name}\"]\n"
                                               + "akka.stdout-loglevel = OFF").WithFallback(config)
            : config;

    /// <summary>Whether <paramref name="config"/> asks for JSON logs.</summary>
    /// <exception cref="ConfigurationException">the format is neither text nor json.</exception>
    public static bool IsJson(Config config)
    {
        var format = config.GetString(FormatKey, "text");
        return Formats.Contains(format) ? format == "json"
            : throw new ConfigurationException($"{FormatKey} must be text or json, not '{format}'");
    }
}
