import { LabIcon } from '@jupyterlab/ui-components';

// A pipeline of three stages; `jp-icon3` makes it follow the theme's icon colour.
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="5" cy="12" r="3"/><circle cx="12" cy="5" r="3"/><circle cx="19" cy="12" r="3"/>
    <path d="M7 10.5l3.2-3.2 1.4 1.4-3.2 3.2zM13.4 8.7l1.4-1.4 3.2 3.2-1.4 1.4z"/>
    <rect x="4" y="18" width="16" height="2" rx="1"/>
  </g>
</svg>`;

export const mlopsIcon = new LabIcon({ name: 'mlops-magic:pipeline', svgstr: svg });
