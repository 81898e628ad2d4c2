import Wire

/// A network device of a stack: its configuration and its counters.
public final class NetDevice {
    public let index: Int
    public let config: DeviceConfig
    public var stats = DeviceStats()
    public var name: String { config.name }
    public var mac: MACAddress { config.mac }

    init(index: Int, config: DeviceConfig) {
        self.index = index; self.config = config
    }
}
