namespace Postbote.LoadClient;

/// <summary>The server answered with a reply the client did not expect.</summary>
internal sealed class ProtocolException(string message) : Exception(message);
