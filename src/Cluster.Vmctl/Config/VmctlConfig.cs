using System.Text.Json;
using System.Text.Json.Serialization;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Config;

/// <summary>One named context: where a cluster's API is, which CA to trust, which token to send.</summary>
public sealed record VmctlContext(string Name, string? Server, [property: JsonPropertyName("cacert")] string? CaCert = null, string? TokenFile = null, string? Token = null);

/// <summary>
/// vmctl's config file, like a kubeconfig: named contexts and the current one, in YAML at <c>$VMCTL_CONFIG</c>
/// (default <c>~/.config/vmctl/config.yaml</c>), written with mode 0600 since a context may hold a token.
/// <code>
/// current-context: prod
/// contexts:
/// - name: prod
///   server: https://10.0.0.1:4770
///   cacert: /etc/cluster/ca.pem
///   token-file: /root/.prod.token
/// </code>
/// </summary>
public sealed record VmctlConfig(string? CurrentContext, IReadOnlyList<VmctlContext> Contexts)
{
    /// <summary>The environment variable naming the file.</summary>
    public const string FileVariable = "VMCTL_CONFIG";

    /// <summary>The environment variable naming the context to use.</summary>
    public const string ContextVariable = "VMCTL_CONTEXT";

    /// <summary>A file without contexts.</summary>
    public static readonly VmctlConfig Empty = new(null, []);

    /// <summary>The file's path: <c>$VMCTL_CONFIG</c>, else <c>~/.config/vmctl/config.yaml</c>.</summary>
    public static string PathFrom(Func<string, string?> environment) =>
        environment(FileVariable) is { Length: > 0 } file ? file
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "vmctl", "config.yaml");

    /// <summary>The context named <paramref name="name"/>, or null.</summary>
    public VmctlContext? Find(string name) => Contexts.FirstOrDefault(c => c.Name == name);

    /// <summary>Reads the file; <see cref="Empty"/> when there is none.</summary>
    /// <exception cref="FormatException">the file is not a config file (with the reason).</exception>
    public static VmctlConfig Load(string file)
    {
        if (!File.Exists(file))
            return Empty;
        try
        {
            var node = YamlReader.Read(File.ReadAllText(file));
            var config = node is null ? Empty : node.Deserialize(ConfigJsonContext.Default.VmctlConfig) ?? Empty;
            return config with { Contexts = config.Contexts ?? [] };
        }
        catch (Exception e) when (e is JsonException or FormatException or IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"cannot read the config file {file}: {e.Message}", e);
        }
    }

    /// <summary>Writes the file (mode 0600, through a temporary file renamed over it), creating its directory.</summary>
    public void Save(string file)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(file)}.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(temporary, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), options))
            writer.Write(YamlText.Write(JsonSerializer.SerializeToNode(this, ConfigJsonContext.Default.VmctlConfig)));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, file, overwrite: true);
    }
}

/// <summary>The config file's JSON shape (kebab-case, nulls left out, unknown fields refused), source-generated.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.KebabCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(VmctlConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
