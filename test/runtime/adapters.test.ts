/**
 * Adapter enumeration: display controllers come from the PCI bus (class 0x03xxxx); with several and
 * Mesa's device-select layer, each is opened by its own Dawn instance with DRI_PRIME naming its PCI
 * address (restored afterwards); without the layer there is one adapter and a warning saying why.
 * A fake PCI folder stands in for a two-GPU machine; on lavapipe the layer, finding no such GPU,
 * falls back to the default device, so the same code path runs here.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listPciGpus, driPrimeOf, findDeviceSelectLayer, openAdapters, describeAdapters, AdapterError } from '../../src/runtime/index.js';

/** A /sys/bus/pci/devices look-alike: two NVIDIA 3D controllers (class 0x0302) and a host bridge. */
function fakePci(): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-pci-'));
  for (const [address, cls, vendor] of [['0000:00:07.0', '0x030200', '0x10de'], ['0000:00:01.0', '0x060000', '0x8086'], ['0000:00:08.0', '0x030200', '0x10de']]) {
    mkdirSync(join(root, address));
    writeFileSync(join(root, address, 'class'), `${cls}\n`);
    writeFileSync(join(root, address, 'vendor'), `${vendor}\n`);
  }
  return root;
}

const saved = { NODEVICE_SELECT: process.env.NODEVICE_SELECT, DRI_PRIME: process.env.DRI_PRIME };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('adapters', () => {
  it('lists display controllers by PCI address, with vendor names, and names them for DRI_PRIME', async () => {
    const gpus = await listPciGpus(fakePci());
    expect(gpus).toEqual([
      { address: '0000:00:07.0', vendorId: 0x10de, vendor: 'nvidia' },
      { address: '0000:00:08.0', vendorId: 0x10de, vendor: 'nvidia' },
    ]);
    expect(driPrimeOf('0000:00:07.0')).toBe('pci-0000_00_07_0!');
    expect(await listPciGpus('/nonexistent')).toEqual([]);
  });

  it("opens one device per GPU through the device-select layer, each named by its PCI address, and leaves DRI_PRIME as it was", async () => {
    expect(await findDeviceSelectLayer(), "Mesa's device-select layer is part of mesa-vulkan-drivers (scripts/setup.sh installs it)").toMatch(/VkLayer_MESA_device_select\.json$/);
    process.env.DRI_PRIME = 'untouched';
    const list = await openAdapters('all', { pciRoot: fakePci() });
    expect(list.map((a) => a.pci)).toEqual(['0000:00:07.0', '0000:00:08.0']);
    expect(list[0].device).not.toBe(list[1].device);
    expect(process.env.DRI_PRIME).toBe('untouched');
    expect(describeAdapters(list)[1]).toMatch(/^gpu:1 0000:00:08\.0 /);
    for (const a of list) a.device.destroy();
  });

  it('without the layer, several GPUs give one adapter and a warning that says how to get the others', async () => {
    process.env.NODEVICE_SELECT = '1';
    expect(await findDeviceSelectLayer()).toBeUndefined();
    const warnings: string[] = [];
    const list = await openAdapters('all', { pciRoot: fakePci(), warn: (m) => warnings.push(m) });
    expect(list).toHaveLength(1);
    expect(list[0].pci).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/found 2 GPUs \(0000:00:07\.0 \(nvidia\), 0000:00:08\.0 \(nvidia\)\) but not Mesa's Vulkan device-select layer.*using one adapter.*mesa-vulkan-drivers/);
    list[0].device.destroy();
  });

  it('a count that is not a positive integer is an AdapterError', async () => {
    await expect(openAdapters(0)).rejects.toBeInstanceOf(AdapterError);
    await expect(openAdapters(1.5)).rejects.toThrow(/positive integer or 'all', got 1.5/);
  });
});
