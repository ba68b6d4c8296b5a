using Postbote.Core;

namespace Postbote.Tracing;

/// <summary>An <see cref="IMessageEvents"/> that keeps nothing: the default where no event store is configured.</summary>
public sealed class NullMessageEvents : IMessageEvents
{
    /// <summary>The one instance.</summary>
    public static readonly NullMessageEvents Instance = new();

    private NullMessageEvents()
    {
    }

    /// <inheritdoc />
    public void Record(QueueId id, MessageEvent e)
    {
    }
}
