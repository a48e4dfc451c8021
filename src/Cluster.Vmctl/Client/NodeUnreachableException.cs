namespace Cluster.Vmctl.Client;

/// <summary>The node did not answer in time: it is not running, the address is wrong, or it is overloaded.</summary>
public sealed class NodeUnreachableException(string message, Exception? inner = null) : Exception(message, inner);
