namespace Cluster.Vmm.Networking;

/// <summary>A host network could not be set up or torn down; the message names the command and what it printed.</summary>
public sealed class NetworkSetupException(string message) : Exception(message);
