namespace Cluster.Serialization.Tls;

/// <summary>The TLS material of a node or client is missing, unreadable, expired or not from the cluster CA.</summary>
public sealed class RemoteTlsException(string message, Exception? inner = null) : Exception(message, inner);
