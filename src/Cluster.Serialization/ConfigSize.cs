using Akka.Configuration;
using Cluster.Contracts.Validation;

namespace Cluster.Serialization;

/// <summary>
/// Sizes in HOCON read with the one size grammar of every other surface (<see cref="SizeText"/>: B, K/KiB, M/MiB, G/GiB,
/// T/TiB, all powers of 1024), not Akka's <c>GetByteSize</c>, whose "MB" is 10^6: "64MB" in a node's configuration means
/// the same 64 MiB as in <c>vmctl create --memory 64MB</c> or the HTTP API. Here, beside the wire, because this is the
/// lowest project that knows both Akka's configuration and the contracts.
/// </summary>
public static class ConfigSize
{
    /// <summary>The size at <paramref name="path"/>, or <paramref name="fallback"/> when the key is absent or empty.</summary>
    /// <exception cref="ConfigurationException">the value is not a size: names the key, the value and why.</exception>
    public static ulong? Get(Config config, string path, ulong? fallback = null)
    {
        if (config.IsNullOrEmpty() || !config.HasPath(path))
            return fallback;
        var text = config.GetString(path);
        if (string.IsNullOrWhiteSpace(text))
            return fallback;
        return SizeText.TryParse(text, out var bytes, out var why)
            ? bytes
            : throw new ConfigurationException($"{path} = '{text}' is not a size: {why}");
    }
}
