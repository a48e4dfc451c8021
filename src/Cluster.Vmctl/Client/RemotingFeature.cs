using System.Diagnostics.CodeAnalysis;

namespace Cluster.Vmctl.Client;

/// <summary>
/// Whether this vmctl carries the Akka.Remote client (<c>--node HOST:PORT</c>, <see cref="NodeClient"/>) itself. True for
/// the JIT or ReadyToRun vmctl.dll (development, tests, the <c>vmctl-remote</c> companion of the package); false in the
/// NativeAOT vmctl (its project sets the switch when it publishes with PublishAot), where the AOT compiler drops Akka and
/// MessagePack with the branch, and <see cref="RemoteCompanion"/> hands a <c>--node</c> command to the companion.
/// </summary>
internal static class RemotingFeature
{
    /// <summary>The switch's name (RuntimeHostConfigurationOption in Cluster.Vmctl.csproj).</summary>
    public const string Switch = "Cluster.Vmctl.Remoting.IsSupported";

    /// <summary>Whether the Akka.Remote client runs in this process.</summary>
    [FeatureSwitchDefinition(Switch)]
    public static bool IsSupported => !AppContext.TryGetSwitch(Switch, out var on) || on;
}
