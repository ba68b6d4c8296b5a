namespace Postbote.Net;

/// <summary>Something the <see cref="Heartbeat"/> checks once per tick, such as a connection with a deadline.</summary>
public interface ITimeoutTarget
{
    /// <summary>Called on every heartbeat tick; must be quick and must not throw.</summary>
    /// <param name="nowTicks">The current timestamp from <see cref="TimeProvider.GetTimestamp"/>.</param>
    void OnHeartbeat(long nowTicks);
}
