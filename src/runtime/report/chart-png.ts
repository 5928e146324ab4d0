import sharp from 'sharp';

/**
 * SVG charts stacked top to bottom into one PNG (rendered by librsvg inside sharp: text needs a
 * system font, e.g. Debian's fonts-dejavu-core, which fontconfig pulls in).
 */
export async function writeChartsPng(svgs: readonly string[], file: string): Promise<void> {
  const images = await Promise.all(
    svgs.map(async (svg) => {
      const { data, info } = await sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).png().toBuffer({
        resolveWithObject: true,
      });
      return { data, width: info.width, height: info.height };
    }),
  );
  const width = Math.max(...images.map((i) => i.width));
  const height = images.reduce((h, i) => h + i.height, 0);
  let top = 0;
  const layers = images.map((i) => {
    const layer = { input: i.data, top, left: 0 };
    top += i.height;
    return layer;
  });
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(layers)
    .png()
    .toFile(file);
}
